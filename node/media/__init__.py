"""Media: content types and names, metadata stripping, image work, storage, public routes."""
