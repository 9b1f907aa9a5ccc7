# rigor environment probe: prints one JSON object describing this interpreter
# and every installed distribution. It must run on any Python 3.
import sys

# Keep the working directory from shadowing the standard library while the
# probe imports it; distributions there still count, so it goes back later.
_cwd = sys.path.pop(0) if sys.path and sys.path[0] in ("", ".") else None

import json
import platform

try:
    import importlib.metadata as _md
except ImportError:  # Python < 3.8
    _md = None

if _cwd is not None:
    sys.path.insert(0, _cwd)

_dists = set()
if _md is not None:
    for _d in _md.distributions():
        try:
            _name = _d.metadata["Name"]
        except Exception:
            _name = None
        if _name:
            _dists.add((str(_name), str(_d.version or "")))

# Where distributions could appear: every sys.path entry, and the site
# directories that would join sys.path once they exist. rigor checks these
# to know whether a cached answer still holds.
_site = []
try:
    import site as _s
    _site = list(getattr(_s, "getsitepackages", lambda: [])())
    _site.append(_s.getusersitepackages())
except Exception:
    _site = None

sys.stdout.write(json.dumps({
    "executable": sys.executable,
    "version": platform.python_version(),
    "sys_version": sys.version,
    "implementation": sys.implementation.name,
    "platform": platform.platform(),
    "prefix": sys.prefix,
    "metadata": _md is not None,
    "distributions": [{"name": n, "version": v} for n, v in sorted(_dists)],
    "path": list(sys.path),
    "site": _site,
}))
