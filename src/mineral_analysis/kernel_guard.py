"""The kernel state guard: runs inside a build kernel, snapshots it after warm-up, restores what a notebook may
change before the next brief, and lists what it cannot restore so that the worker replaces the kernel.

The class is self-contained on purpose: ``build._guard_installer`` sends its source into the kernel, where it
runs without importing this package. What it restores and what it cannot see is described in ``build``'s
module docstring; tests/test_build_failures.py proves it.
"""

from __future__ import annotations


class KernelStateGuard:
    """Runs inside a warm kernel: remembers its state after warm-up, restores it before each brief, and lists
    what changed that it cannot restore (the worker then replaces the kernel). See ``build``'s module docstring.

    Self-contained on purpose: its source is sent to the kernel (``inspect.getsource``).
    """

    PROJECT = "mineral_analysis"
    GUARD_MODULE = "_mineral_analysis_kernel_guard"
    WATCHED = ("builtins", "numpy", "pandas", "matplotlib", "matplotlib.pyplot", "matplotlib.figure",
               "matplotlib.axes", "seaborn", "geopandas", "shapely", "IPython.display", "PIL.Image")

    def __init__(self, shell):
        import decimal
        import gc
        import locale
        import logging
        import os
        import signal
        import sys
        import sysconfig
        import threading
        import warnings

        import matplotlib
        import matplotlib.pyplot as plt
        import numpy

        self.shell = shell
        self.reasons = []
        self.env = dict(os.environ)
        self.path = list(sys.path)
        self.modules = set(sys.modules)
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, *sysconfig.get_paths().values()}
        self.installed = tuple(sorted(str(p) for p in prefixes if p))
        self.project = {name: (module, dict(vars(module))) for name, module in self._project_modules().items()}
        self.project_values = self._project_values()
        self.namespaces = {key: self._plain(ns) for key, ns in self._namespaces().items()}
        self.code = self._code_snapshot()
        self.shell_state = self._shell_state()
        self.threads = set(threading.enumerate())
        self.hooks = (sys.displayhook, sys.excepthook, sys.stdout, sys.stderr, sys.stdin)
        self.signals = {s: signal.getsignal(s) for s in self._signals()}
        self.umask = os.umask(0o022)
        os.umask(self.umask)
        self.locale = locale.setlocale(locale.LC_ALL)
        self.recursion = sys.getrecursionlimit()
        self.switch = sys.getswitchinterval()
        self.gc = gc.isenabled()
        self.decimal = decimal.getcontext().copy()
        self.filters = list(warnings.filters)
        self.showwarning = warnings.showwarning
        self.disable = logging.Logger.manager.disable
        self.loggers = {name: self._logger_state(logger) for name, logger in self._loggers()}
        self.backend = plt.get_backend()
        self.repl_hook = getattr(plt, "_REPL_DISPLAYHOOK", None)
        self.rc = {key: dict.__getitem__(matplotlib.rcParams, key) for key in matplotlib.rcParams}
        self.colormaps = set(matplotlib.colormaps)
        self.numpy_err = numpy.geterr()
        self.numpy_print = numpy.get_printoptions()
        self.pandas = self._pandas_options()

    # What is watched.

    def _project_modules(self):
        import sys
        import types

        return {name: module for name, module in list(sys.modules.items())
                if isinstance(module, types.ModuleType)
                and (name == self.PROJECT or name.startswith(self.PROJECT + "."))}

    def _project_values(self):
        """A digest of each container in the project's modules (vocabularies, styles): in-place edits show."""
        import hashlib

        digests = {}
        for name, (module, saved) in self.project.items():
            for key, value in saved.items():
                if key.startswith("__") or not isinstance(value, (dict, list, set, tuple, frozenset)):
                    continue
                try:
                    text = repr(value)
                except Exception:  # noqa: BLE001, S112 - an unprintable value is not watched
                    continue
                digests[f"{name}.{key}"] = hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()
        return digests

    def _namespaces(self):
        import sys

        found = {}
        for name in self.WATCHED:
            module = sys.modules.get(name)
            if module is None:
                continue
            found[name] = vars(module)
            top = name.split(".")[0]
            for attr, value in list(vars(module).items()):
                if (isinstance(value, type) and str(getattr(value, "__module__", "")).split(".")[0] == top
                        and (name, attr) not in self.IGNORED):
                    found[f"{name}.{attr}"] = value.__dict__
        return found

    # Set by IPython when it shows a traceback; rebuilt by pyplot whenever the backend is switched (restored
    # by name in reset()).
    IGNORED = frozenset({("sys", "last_type"), ("sys", "last_value"), ("sys", "last_traceback"),
                         ("sys", "last_exc"), ("matplotlib.pyplot", "_backend_mod")})

    @staticmethod
    def _is_code(value):
        import types

        return isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                                  property, staticmethod, classmethod))

    def _code_snapshot(self):
        """Every module imported so far (but __main__ and the project's, which are restored) and every class they
        define: their names, and their functions and classes, to see added names and replaced code."""
        import sys
        import types

        modules, classes, seen = {}, [], set()
        for name, module in list(sys.modules.items()):
            if (not isinstance(module, types.ModuleType) or name in ("__main__", self.GUARD_MODULE)
                    or name == self.PROJECT or name.startswith(self.PROJECT + ".")):
                continue
            namespace = vars(module)
            items = list(namespace.items())
            modules[name] = (module, frozenset(k for k, _ in items), {k: v for k, v in items if self._is_code(v)})
            for _, value in items:
                if isinstance(value, type) and id(value) not in seen and getattr(value, "__module__", None) == name:
                    seen.add(id(value))
                    attrs = dict(value.__dict__)
                    classes.append((value, frozenset(attrs), {k: v for k, v in attrs.items() if self._is_code(v)}))
        return modules, classes

    def _code_changes(self):
        """Names added to a module or class since warm-up, and functions or classes replaced or removed."""
        import sys
        import types

        changed = []
        modules, classes = self.code
        for name, (module, names, code) in modules.items():
            if sys.modules.get(name, module) is not module:
                changed.append(f"sys.modules[{name!r}]")
                continue
            namespace = vars(module)
            found = [k for k, v in code.items()
                     if not self._same(namespace.get(k, self), v) and (name, k) not in self.IGNORED]
            if len(namespace) != len(names) or found:
                found += [k for k, v in list(namespace.items())
                          if k not in names and not (k.startswith("__") and k.endswith("__"))
                          and not isinstance(v, types.ModuleType) and (name, k) not in self.IGNORED]
            changed += [f"{name}.{k}" for k in sorted(set(found))]
        for cls, names, code in classes:
            attrs = cls.__dict__
            found = [k for k, v in code.items() if not self._same(attrs.get(k, self), v)]
            if len(attrs) != len(names):
                found += [k for k in attrs if k not in names and k not in self.CACHES]
            changed += [f"{cls.__module__}.{cls.__qualname__}.{k}" for k in sorted(set(found))]
        return changed

    @staticmethod
    def _plain(namespace):
        import types

        return {k: v for k, v in list(namespace.items()) if not isinstance(v, types.ModuleType)}

    def _shell_state(self):
        shell = self.shell
        formatter = shell.display_formatter
        state = {
            "events": {name: list(callbacks) for name, callbacks in shell.events.callbacks.items()},
            "ast_transformers": list(shell.ast_transformers),
            "input_transformers_post": list(shell.input_transformers_post),
            "input_transformers": [list(getattr(shell.input_transformer_manager, attr, []))
                                   for attr in ("cleanup_transforms", "line_transforms", "token_transformers")],
            "magics": {kind: {name: self._magic(v) for name, v in table.items()}
                       for kind, table in shell.magics_manager.magics.items()},
            "extensions": set(shell.extension_manager.loaded),
            "custom_exceptions": shell.custom_exceptions,
            "display_pub": shell.display_pub,
            "traceback_mode": getattr(shell.InteractiveTB, "mode", None),
            "active_types": list(formatter.active_types),
            "formatters": {mime: (f.enabled, dict(f.type_printers), dict(f.deferred_printers),
                                  dict(getattr(f, "singleton_printers", {})))
                           for mime, f in formatter.formatters.items()},
        }
        plain = formatter.formatters.get("text/plain")
        if plain is not None:
            state["plain"] = (plain.float_precision, plain.pprint, plain.max_width, plain.max_seq_length)
        for attr in ("autocall", "automagic", "ast_node_interactivity", "colors"):
            state[attr] = getattr(shell, attr, None)
        return state

    @staticmethod
    def _signals():
        import signal

        names = ("SIGINT", "SIGTERM", "SIGALRM", "SIGCHLD", "SIGPIPE", "SIGHUP", "SIGUSR1", "SIGUSR2")
        return [getattr(signal, n) for n in names if hasattr(signal, n)]

    @staticmethod
    def _loggers():
        import logging

        pairs = [("", logging.getLogger())] + list(logging.Logger.manager.loggerDict.items())
        return [(name, logger) for name, logger in pairs if isinstance(logger, logging.Logger)]

    @staticmethod
    def _logger_state(logger):
        return logger.level, list(logger.handlers), logger.propagate, logger.disabled, list(logger.filters)

    @staticmethod
    def _pandas_options():
        import warnings

        try:
            from pandas._config import config

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return {key: config.get_option(key) for key in config._registered_options}
        except Exception:  # noqa: BLE001 - a pandas without this private table: options are not restored
            return None

    # What a reset cannot undo.

    CACHES = frozenset({"__slotnames__"})  # attributes the standard library caches on classes (copyreg)

    @staticmethod
    def _same(a, b):
        """Identity, except that a bound method is the same when its function and object are."""
        import types

        if a is b:
            return True
        methods = (types.MethodType, types.BuiltinMethodType)
        return (isinstance(a, methods) and isinstance(b, methods)
                and getattr(a, "__func__", None) is getattr(b, "__func__", None)
                and a.__self__ is b.__self__ and a.__name__ == b.__name__)

    def _changed(self, module, saved, current, limit=3):
        keys = sorted((set(saved) ^ set(current)) - self.CACHES)
        keys += sorted(k for k in set(saved) & set(current) if not self._same(saved[k], current[k]))
        return [k for k in keys if (module, k) not in self.IGNORED][:limit]

    @staticmethod
    def _magic(value):
        """IPython's own magics and aliases are loaded lazily and rebuilt by %reset: they count as unchanged."""
        function = getattr(value, "__func__", value)
        module = str(getattr(function, "__module__", None) or type(value).__module__ or "")
        if module.split(".")[0] in ("IPython", "ipykernel", "matplotlib_inline"):
            return ("ipython", getattr(value, "cmd", None))
        return ("user", function)

    def check(self):
        """What changed since warm-up that reset() cannot restore; empty: the kernel is as good as new."""
        import sys
        import threading

        import matplotlib

        reasons = []
        changed = self._code_changes()
        if changed:
            more = f" and {len(changed) - 8} more" if len(changed) > 8 else ""
            reasons.append(f"{', '.join(changed[:8])}{more} added or replaced")
        for key, namespace in self._namespaces().items():
            if key not in self.namespaces:
                continue  # imported after warm-up: nothing to compare with
            changed = self._changed(key, self.namespaces[key], self._plain(namespace))
            if changed:
                reasons.append(f"{key}: {', '.join(map(str, changed))} added or replaced")
        values = self._project_values()
        if values != self.project_values:
            changed = sorted(k for k in set(values) | set(self.project_values)
                             if values.get(k) != self.project_values.get(k))
            reasons.append(f"{', '.join(changed)} changed in place")  # one object can have several names
        state = self._shell_state()
        for key, saved in self.shell_state.items():
            if state.get(key) != saved:
                reasons.append(f"IPython shell {key} changed")
        threads = [t for t in threading.enumerate() if t not in self.threads and t.is_alive()
                   and type(t).__module__.split(".")[0] not in ("zmq", "ipykernel", "IPython")]
        if threads:
            reasons.append(f"threads still running: {', '.join(t.name for t in threads[:3])}")
        if (sys.displayhook, sys.excepthook, sys.stdout, sys.stderr, sys.stdin) != self.hooks:
            reasons.append("sys.displayhook, excepthook or a standard stream replaced")
        if set(matplotlib.colormaps) != self.colormaps:
            reasons.append("matplotlib colormaps registered or removed")
        return reasons

    # The reset.

    def reset(self, cwd):
        """check(), then restore the remembered state with ``cwd`` as working folder; return check()'s list."""
        import decimal
        import gc
        import locale
        import logging
        import os
        import random
        import signal
        import sys
        import time
        import warnings

        import matplotlib
        import matplotlib.pyplot as plt
        import numpy

        plt.close("all")
        if plt.get_backend() != self.backend:
            plt.switch_backend(self.backend)
        if getattr(plt, "_REPL_DISPLAYHOOK", None) is not self.repl_hook:
            plt.uninstall_repl_displayhook()  # installed by switch_backend; the warm kernel has none
        self.reasons = self.check()
        rc = matplotlib.rcParams
        for key, value in self.rc.items():
            current = dict.__getitem__(rc, key)
            try:
                same = bool(current == value)
            except Exception:  # noqa: BLE001 - values that do not compare: by identity
                same = current is value
            if not same:
                dict.__setitem__(rc, key, value)  # the remembered value was validated when it was set
        os.chdir(cwd)
        if dict(os.environ) != self.env:
            os.environ.clear()
            os.environ.update(self.env)
            if hasattr(time, "tzset"):
                time.tzset()
        sys.path[:] = self.path
        for name in set(sys.modules) - self.modules:
            origin = getattr(sys.modules.get(name), "__file__", None)
            project = name == self.PROJECT or name.startswith(self.PROJECT + ".")
            if project or (origin and not str(origin).startswith(self.installed)):
                del sys.modules[name]  # the project's or the notebook's own modules: imported afresh next time
        for name, (module, saved) in self.project.items():
            namespace = vars(module)
            for key in [k for k in namespace if k not in saved]:
                del namespace[key]
            for key, value in saved.items():
                if namespace.get(key, self) is not value:
                    namespace[key] = value
            sys.modules[name] = module
        warnings.filters[:] = self.filters
        warnings.showwarning = self.showwarning
        if hasattr(warnings, "_filters_mutated"):
            warnings._filters_mutated()  # forget which warnings were already shown
        logging.disable(self.disable)
        for name, logger in self._loggers():
            level, handlers, propagate, disabled, filters = self.loggers.get(
                name, (logging.NOTSET, [], True, False, []))
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate, logger.disabled = propagate, disabled
            logger.filters[:] = filters
        numpy.seterr(**self.numpy_err)
        numpy.set_printoptions(**self.numpy_print)
        numpy.random.seed()
        random.seed()
        if self.pandas is not None:
            from pandas._config import config

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for key, value in self.pandas.items():
                    try:
                        if config.get_option(key) != value:
                            config.set_option(key, value)
                    except Exception:  # noqa: BLE001 - an option that cannot be set back is a reason
                        self.reasons.append(f"pandas option {key} could not be restored")
        os.umask(self.umask)
        try:
            if locale.setlocale(locale.LC_ALL) != self.locale:
                locale.setlocale(locale.LC_ALL, self.locale)
        except locale.Error:
            self.reasons.append("locale could not be restored")
        sys.setrecursionlimit(self.recursion)
        sys.setswitchinterval(self.switch)
        (gc.enable if self.gc else gc.disable)()
        decimal.setcontext(self.decimal.copy())
        for signum, handler in self.signals.items():
            if handler is not None and signal.getsignal(signum) is not handler:
                signal.signal(signum, handler)
        return self.reasons
