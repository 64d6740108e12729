// Portal's progressive enhancements. Every page works without this file; it only saves clicks.
(function () {
  'use strict';

  // Filter forms apply as soon as a choice changes (the Apply button remains for keyboard and no-script use).
  document.querySelectorAll('form[data-autosubmit]').forEach(function (form) {
    form.addEventListener('change', function (e) {
      if (e.target.matches('input[type=checkbox], select')) {
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }
    });
  });

  // JSON fields say what is wrong before the form is sent; the server checks again.
  function checkJSON(el) {
    var kind = el.getAttribute('data-json');
    var text = el.value.trim();
    var msg = '';
    if (text !== '' || kind === 'object') {
      try {
        var v = JSON.parse(text);
        if ((kind === 'object' || kind === 'object-or-empty') && (v === null || typeof v !== 'object' || Array.isArray(v))) {
          msg = 'Enter a JSON object, like {"key": "value"}.';
        }
      } catch (err) {
        msg = 'Not valid JSON: ' + err.message;
      }
    }
    el.setCustomValidity(msg);
    el.setAttribute('aria-invalid', msg ? 'true' : 'false');
    return msg === '';
  }
  document.querySelectorAll('[data-json]').forEach(function (el) {
    el.addEventListener('input', function () { checkJSON(el); });
  });
  document.querySelectorAll('form').forEach(function (form) {
    form.addEventListener('submit', function (e) {
      var bad = null;
      form.querySelectorAll('[data-json]').forEach(function (el) {
        if (!checkJSON(el) && !bad) { bad = el; }
      });
      if (bad) {
        e.preventDefault();
        bad.reportValidity();
        bad.focus();
      }
    });
  });

  // The flag preview updates in place.
  document.querySelectorAll('form[data-preview]').forEach(function (form) {
    var out = document.getElementById('preview-result');
    form.addEventListener('submit', function (e) {
      if (e.defaultPrevented || !out) { return; }
      e.preventDefault();
      var ctx = form.querySelector('[name=context]').value;
      var url = form.getAttribute('data-preview') + '?fragment=1&context=' + encodeURIComponent(ctx);
      fetch(url, { headers: { 'Accept': 'text/html' }, credentials: 'same-origin' })
        .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.text(); })
        .then(function (html) {
          out.innerHTML = html;
          var u = new URL(window.location.href);
          u.searchParams.set('context', ctx);
          history.replaceState(null, '', u.pathname + u.search + '#preview');
          // Forms that come back to this page (enable, disable) come back to this context.
          document.querySelectorAll('input[name=return]').forEach(function (el) { el.value = u.pathname + u.search; });
        })
        .catch(function () { form.submit(); });
    });
  });

  // Confirm before destructive forms.
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (e) {
      if (!window.confirm(form.getAttribute('data-confirm'))) { e.preventDefault(); }
    });
  });

  // Copy a new token.
  document.querySelectorAll('[data-copy]').forEach(function (btn) {
    btn.addEventListener('click', function () {
      var el = document.getElementById(btn.getAttribute('data-copy'));
      if (!el) { return; }
      el.select();
      var done = function () { btn.textContent = 'Copied'; };
      if (navigator.clipboard) {
        navigator.clipboard.writeText(el.value).then(done, function () { document.execCommand('copy'); done(); });
      } else {
        document.execCommand('copy');
        done();
      }
    });
  });
  document.querySelectorAll('[data-select-on-focus]').forEach(function (el) {
    el.addEventListener('focus', function () { el.select(); });
  });

  // A running task's or release's page follows it: the live part is fetched again every second until the work
  // ends, and the page reloads once then, so its actions (cancel, run again, roll back) match the outcome.
  var live = document.querySelector('[data-poll]');
  if (live && live.getAttribute('data-done') !== 'true') {
    var wait = 1000;
    var poll = function () {
      fetch(live.getAttribute('data-poll'), { headers: { 'Accept': 'text/html' }, credentials: 'same-origin' })
        .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.text(); })
        .then(function (html) {
          live.innerHTML = html;
          wait = 1000;
          var state = live.querySelector('[data-done]');
          if (state && state.getAttribute('data-done') === 'true') {
            window.location.reload();
            return;
          }
          setTimeout(poll, wait);
        })
        .catch(function () { wait = Math.min(wait * 2, 10000); setTimeout(poll, wait); });
    };
    setTimeout(poll, wait);
  }

  // After a failed save, take keyboard and screen-reader users to the list of problems.
  var summary = document.getElementById('error-summary');
  if (summary) { summary.focus(); }
})();
