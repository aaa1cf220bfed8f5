-- wrk script for GET /token with HTTP Basic personal access tokens.
-- Arguments (after `--`): CREDENTIALS_FILE MODE NONCE
--   CREDENTIALS_FILE  lines of "<user>\t<Authorization header value>"
--   MODE              "unique": every request asks for a repository never asked before
--                               (a per-run nonce + a counter), spread over all credentials;
--                     "repeat": one identical request, over and over.
--   NONCE             makes repository names unique across runs and reps.
-- No response() callback on purpose: it would make wrk parse every body and cost it CPU.

local creds = {}
local mode = "unique"
local nonce = "0"
local counter = 0
local fixed = nil

local function token_request(cred, repository)
   -- Plain concatenation onto a request head built once per credential: wrk.format
   -- rebuilds every header per call, which costs the load generator (sharing our cores)
   -- several µs per request.
   return "GET /token?service=registry&scope=repository:" .. cred.user .. "/" .. repository
      .. ":pull,push HTTP/1.1\r\n" .. cred.head
end

function setup(thread)
   -- Runs in the main state once per thread; gives each thread its own id for repo names.
   threads = (threads or 0) + 1
   thread:set("tid", threads)
end

function init(args)
   local path = args[1] or error("usage: token.lua CREDENTIALS_FILE [unique|repeat] [NONCE]")
   mode = args[2] or "unique"
   nonce = args[3] or "0"
   for line in io.lines(path) do
      local user, header = line:match("^(%S+)\t(.+)$")
      if user then
         creds[#creds + 1] = {
            user = user,
            head = "Host: " .. wrk.host .. ":" .. wrk.port .. "\r\nAuthorization: " .. header
               .. "\r\n\r\n",
         }
      end
   end
   if #creds == 0 then
      error("no credentials in " .. path)
   end
   if mode == "repeat" then
      fixed = token_request(creds[1], "repeat")
   elseif mode ~= "unique" then
      error("mode must be unique or repeat, got " .. mode)
   end
end

function request()
   if fixed then
      return fixed
   end
   counter = counter + 1
   local cred = creds[(counter % #creds) + 1]
   return token_request(cred, "r" .. nonce .. "-" .. (tid or 1) .. "-" .. counter)
end
