-- wrk script: GET /api/wallet with the X-API-Key taken from $API_KEY.
wrk.method = "GET"
wrk.path = "/api/wallet"
wrk.headers["X-API-Key"] = os.getenv("API_KEY")
