-- HTTP pipelining for wrk, the TechEmpower way: every write carries DEPTH requests
-- (the script's first argument, default 1) back to back, and wrk counts each response.
--
--   wrk -t1 -c64 -d10s -s Benchmarks/wrk/pipeline.lua http://127.0.0.1:PORT/plaintext -- 16

init = function(args)
   local depth = tonumber(args[1]) or 1
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format()
   end
   req = table.concat(r)
end

request = function()
   return req
end
