"""The LRA operators' console (/console): accounts, review, audit."""
