// rigor serve: progressive enhancements only; every page works without it.
// No inline script anywhere (the Content-Security-Policy forbids it), and
// text from the store is only ever set with textContent.
'use strict';

document.addEventListener('DOMContentLoaded', function () {
  // Runs table: a changed select applies the filter at once.
  var filters = document.getElementById('filters');
  if (filters) {
    filters.querySelectorAll('select').forEach(function (s) {
      s.addEventListener('change', function () { filters.submit(); });
    });
  }

  // Runs table: pick two runs, then compare them.
  var compare = document.getElementById('compare-selected');
  if (compare) {
    var hint = document.getElementById('compare-hint');
    var picked = function () {
      return Array.prototype.map.call(document.querySelectorAll('input.pick:checked'), function (c) { return c.value; });
    };
    document.querySelectorAll('input.pick').forEach(function (c) {
      c.addEventListener('change', function () {
        var p = picked();
        compare.disabled = p.length !== 2;
        hint.textContent = p.length === 2 ? p[0] + ' vs ' + p[1] : 'select two runs (' + p.length + ' selected)';
      });
    });
    compare.addEventListener('click', function () {
      var p = picked();
      if (p.length === 2) {
        window.location.href = '/compare?a=' + encodeURIComponent(p[0]) + '&b=' + encodeURIComponent(p[1]);
      }
    });
  }

  // Log page: filter the lines shown as you type (the form searches the
  // whole log on the server).
  var lf = document.getElementById('line-filter');
  if (lf) {
    lf.addEventListener('input', function () {
      var q = lf.value.toLowerCase();
      document.querySelectorAll('#log-lines tr').forEach(function (tr) {
        tr.hidden = q !== '' && tr.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  }
});
