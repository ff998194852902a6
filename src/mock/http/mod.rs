//! The HTTP layer of the reference server: axum routes, auth, SSE/WebSocket, control API.
