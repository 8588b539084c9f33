-- Job-status polling: each connection is one client asking for its job's status about once a
-- second (wrk's delay() makes it an offered load, not a flood), with the requester's API token.
local job_id = os.getenv("JOB_ID")
local token = os.getenv("TOKEN")
local poll_ms = tonumber(os.getenv("POLL_MS") or "1000")
wrk.method = "GET"
wrk.path = "/api/v1/jobs/" .. job_id
wrk.headers["Authorization"] = "Token " .. token
wrk.headers["Accept"] = "application/json"

function delay()
  if poll_ms <= 0 then return 0 end
  return math.random(math.floor(poll_ms / 2), poll_ms + math.floor(poll_ms / 2))
end

function done(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %d, \"seconds\": %.2f, \"rps\": %.1f, \"p50_ms\": %.1f, \"p90_ms\": %.1f, \"p99_ms\": %.1f, \"max_ms\": %.1f, \"errors_status\": %d, \"errors_socket\": %d}\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
