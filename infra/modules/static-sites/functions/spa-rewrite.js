// Client-side routing: a path without a file extension is a route of the single-page app,
// so CloudFront serves /index.html for it. Requests for files (/main.js, /remoteEntry.js,
// /assets/logo.svg) pass through unchanged.
function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
