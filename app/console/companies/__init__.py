"""Companies and tickets in the console (admins)."""
