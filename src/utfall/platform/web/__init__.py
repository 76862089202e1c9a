"""Server-rendered pages (templates + htmx): views only parse, call and render."""
