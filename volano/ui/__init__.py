"""Pages that compose several domains (the overview): the top layer, above every domain."""
