"""Static content pages: the top page and the policies."""
