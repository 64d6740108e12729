// Requests for /portal/... reach Portal without the prefix: /portal/api/flags/dev is Portal's
// /api/flags/dev. The flag console uses the prefix so that it stays on its own site's origin.
function handler(event) {
  var request = event.request;
  request.uri = request.uri.substring('/portal'.length) || '/';
  return request;
}
