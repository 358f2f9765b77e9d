# runtime sources (placeholder)
