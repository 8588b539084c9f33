-- Portal sign-in: POST the login form with a valid CSRF cookie/token pair fetched beforehand.
-- A correct password answers 302; axes resets the failure count on each success.
wrk.method = "POST"
wrk.path = "/accounts/login/"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "csrftoken=" .. os.getenv("CSRF_COOKIE")
wrk.headers["Referer"] = "http://127.0.0.1:" .. os.getenv("PORT") .. "/accounts/login/"
wrk.body = "username=load-signin&password=correct+horse+battery+staple&csrfmiddlewaretoken=" ..
  os.getenv("CSRF_TOKEN")

function response(status, headers, body)
  if status ~= 302 then io.stderr:write("unexpected sign-in status " .. status .. "\n") end
end

function done(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %d, \"seconds\": %.2f, \"rps\": %.2f, \"p50_ms\": %.1f, \"p90_ms\": %.1f, \"p99_ms\": %.1f, \"max_ms\": %.1f, \"errors_status\": %d, \"errors_socket\": %d}\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
