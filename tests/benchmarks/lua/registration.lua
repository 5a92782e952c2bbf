-- The whole registration, looped by every connection: step 1 (GET, with a fresh CAPTCHA) ->
-- step 1 POST (303) -> confirm (GET) -> 申請登録 POST (303; the database write and the
-- outbox row) -> complete (GET).
-- Run with as many threads as connections (-t N -c N): wrk's Lua state is per thread, so
-- that makes it per connection, and each connection keeps its own session cookie.
-- Globals set by the prelude: CSRF, TICKETS, ANSWER, COMPANY, CLIENT_PREFIX.

local step = 1
local session = nil
local captcha_id = nil
completed = 0 -- registrations finished (read by report.lua's done())
failures = 0 -- unexpected answers; the connection starts over at step 1

function init(args)
  -- A ticket of its own per connection: registrations of one ticket queue on its row lock.
  ticket = TICKETS[(bench_thread_number - 1) % #TICKETS + 1]
end

local function headers(form)
  -- One client address per connection, as behind the reverse proxy (see clients.lua).
  local h = {["X-Forwarded-For"] = CLIENT_PREFIX .. bench_thread_number}
  h["Cookie"] = "jcan_csrf=" .. CSRF .. (session and ("; jcan_session=" .. session) or "")
  if form then h["Content-Type"] = "application/x-www-form-urlencoded" end
  return h
end

local function urlencode(text)
  return (string.gsub(text, "[^%w%-_%.~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

request = function()
  if step == 1 then
    return wrk.format("GET", "/register/step1?applicant_type=self", headers(false))
  elseif step == 2 then
    local email = urlencode("bench+" .. bench_thread_number .. "@example.jp")
    local body = "_csrf_token=" .. CSRF .. "&applicant_type=self&company_code=" .. COMPANY ..
      "&ticket_number=" .. ticket .. "&email=" .. email .. "&email_confirm=" .. email ..
      "&captcha_id=" .. captcha_id .. "&captcha_answer=" .. ANSWER
    return wrk.format("POST", "/register/step1", headers(true), body)
  elseif step == 3 then
    return wrk.format("GET", "/register/confirm", headers(false))
  elseif step == 4 then
    return wrk.format("POST", "/register/confirm", headers(true),
      "_csrf_token=" .. CSRF .. "&agree=yes")
  else
    return wrk.format("GET", "/register/complete", headers(false))
  end
end

local expected = {200, 303, 200, 303, 200}

response = function(status, response_headers, body)
  for name, value in pairs(response_headers) do
    if string.lower(name) == "set-cookie" then
      local key, cookie = string.match(value, "^%s*([^=]+)=([^;]*)")
      if key == "jcan_session" then
        session = (cookie ~= "null" and cookie ~= "") and cookie or nil
      end
    end
  end
  if status ~= expected[step] then
    failures = failures + 1
    step, session = 1, nil
    return
  end
  if step == 1 then
    captcha_id = string.match(body, 'name="captcha_id" value="([^"]+)"')
    if not captcha_id then
      failures = failures + 1
      return
    end
  elseif step == 5 then
    completed = completed + 1
    step = 1
    return
  end
  step = step + 1
end
