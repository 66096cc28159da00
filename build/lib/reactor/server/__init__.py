"""The reactor server: Starlette app and uvicorn runner (app), function API (api), HTTP actions."""
