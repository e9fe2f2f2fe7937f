-- wrk script for `make bench`: GETs the paths listed in the file $BENCH_PATHS in turn,
-- with the tenant's Host header ($BENCH_HOST) and, when set, $BENCH_AUTH as the
-- Authorization header. Prints one line "BENCH_JSON {...}" with the figures at the end.

local paths = {}
local counter = 0

function init(args)
  for line in io.lines(os.getenv("BENCH_PATHS")) do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
  -- Each wrk thread starts at another place in the list.
  counter = math.random(#paths)
  wrk.headers["Host"] = os.getenv("BENCH_HOST")
  local auth = os.getenv("BENCH_AUTH")
  if auth and #auth > 0 then
    wrk.headers["Authorization"] = auth
  end
end

function request()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
