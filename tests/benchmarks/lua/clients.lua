-- Requests of this load come from CLIENTS different addresses in turn (X-Forwarded-For, read
-- because the bench runs the app with TRUSTED_PROXY=true as behind its reverse proxy): the
-- rate limiter keeps a history per address, and one address for the whole load would make
-- that history as long as the load itself.
local client = 0

request = function()
  client = client % CLIENTS + 1
  wrk.headers["X-Forwarded-For"] = CLIENT_PREFIX .. client
  return wrk.format()
end
