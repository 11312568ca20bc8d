"""The Viber front door: a signed webhook in, viberbot's message models out over aiohttp."""
