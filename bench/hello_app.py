"""The hello-world baseline: the smallest WSGI page, served by the same gunicorn settings as
the app, so every figure can be given as a ratio measured in the same run."""


def app(environ, start_response):
    body = b"Bonjour"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
