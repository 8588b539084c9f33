-- Image detection: anonymous multipart upload of a 512x512 PNG to /api/v1/detections.
local f = assert(io.open(os.getenv("IMAGE"), "rb"))
local image = f:read("*all")
f:close()
local boundary = "----loadtestboundary7MA4YWxkTrZu0gW"
wrk.method = "POST"
wrk.path = "/api/v1/detections"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = "--" .. boundary .. "\r\n" ..
  "Content-Disposition: form-data; name=\"file\"; filename=\"photo.png\"\r\n" ..
  "Content-Type: image/png\r\n\r\n" .. image .. "\r\n--" .. boundary .. "--\r\n"

function done(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %d, \"seconds\": %.2f, \"rps\": %.2f, \"p50_ms\": %.1f, \"p90_ms\": %.1f, \"p99_ms\": %.1f, \"max_ms\": %.1f, \"errors_status\": %d, \"errors_socket\": %d}\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
