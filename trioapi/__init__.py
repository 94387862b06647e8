"""trioapi."""
