"""The HTTP adapter: the aiohttp app, its middleware and connection handling, handlers, OpenAPI."""
