-- The console's password step, looped: POST /console/login with the bench operator's address
-- and password (and the CSRF token). A success is a 303 to the code page /console/mfa; any
-- other answer (a 422 for a wrong password, a 429 from the throttles) counts as a failure.
-- Globals set by the prelude: CSRF, CLIENTS, CLIENT_PREFIX; the body and Content-Type too.
local client = 0
completed = 0 -- password steps passed (read by report.lua's done())
failures = 0

request = function()
  client = client % CLIENTS + 1
  wrk.headers["X-Forwarded-For"] = CLIENT_PREFIX .. client
  return wrk.format()
end

response = function(status, response_headers, body)
  local location = nil
  for name, value in pairs(response_headers) do
    if string.lower(name) == "location" then location = value end
  end
  if status == 303 and location and string.find(location, "/console/mfa", 1, true) then
    completed = completed + 1
  else
    failures = failures + 1
  end
end
