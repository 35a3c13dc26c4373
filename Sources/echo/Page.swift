/// The page served at `/`. It grows with the demo; for now it says what the server offers.
let indexPage: StaticString = """
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Reactor demo</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
  code { background: #f3f3f3; padding: 0 .25rem; border-radius: 3px; }
</style>
</head>
<body>
<h1>Reactor</h1>
<p>A single-threaded epoll reactor in Swift. This server answers:</p>
<ul>
  <li><code>GET /plaintext</code>: <code>Hello, World!</code></li>
  <li><code>POST /echo-body</code>: the request body, sent back</li>
</ul>
<p id="check">Checking <code>/plaintext</code>&hellip;</p>
<script>
fetch('/plaintext').then(r => r.text()).then(t => {
  document.getElementById('check').textContent = 'GET /plaintext answered: ' + t;
});
</script>
</body>
</html>

"""
