"""Public endpoints of Microsoft's services (overridable in settings, for tests and national clouds)."""

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"
