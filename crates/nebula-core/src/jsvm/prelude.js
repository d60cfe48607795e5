// The hook API, evaluated once per runtime before the hook files.
// `__native` holds the Rust functions (see globals.rs); it is taken off the
// global object here, and Rust calls back through the frozen object this
// script evaluates to (held in Rust, out of reach of the hook files).
(function (N, G) {
  "use strict";
  delete G.__native;

  // ---- Guards: these Array methods loop in C without polling the interrupt
  // handler; no dense array can be this long under the memory limit.
  const MAX_LEN = N.maxArrayLength;
  const MAX_HEADERS = N.maxHeaders;
  // Throws once the slice is past its deadline. QuickJS polls its interrupt
  // handler once per 10 000 branches or calls, so a loop around a long
  // native call would run on for minutes; refused at once, the loop reaches
  // the next poll quickly. (Native calls that allocate are refused by the
  // runtime's allocator.)
  const deadline = N.deadline;
  const AP = Array.prototype;
  const apply = Reflect.apply;
  // Strings cross into Rust as UTF-8: a lone surrogate becomes U+FFFD.
  const TO_WELL_FORMED = String.prototype.toWellFormed;
  const NO_ARGS = Object.freeze([]);
  const wf = (v) => apply(TO_WELL_FORMED, String(v), NO_ARGS);
  const getProto = Object.getPrototypeOf;
  const getOwn = Object.getOwnPropertyDescriptor;
  const isArray = Array.isArray;
  const isProxy = N.isProxy;
  const SPREADABLE = Symbol.isConcatSpreadable;
  const trunc = Math.trunc;
  const toNumber = Number;
  const toObject = Object;
  const toLength = (v) => {
    const n = trunc(toNumber(v));
    return n > 0 ? n : 0;
  };
  // The native getter of typed arrays' length (reads an internal slot).
  const TYPED_LENGTH = getOwn(getProto(Uint8Array.prototype), "length").get;
  // The length the C loop will see, read once here: only from a data
  // property holding a primitive (a getter, a proxy or a `valueOf` could
  // show this guard one length and the C code another), or a typed array.
  function lengthFor(self, name) {
    const o = toObject(self);
    if (isProxy(o)) throw new TypeError(`Array.prototype.${name} does not accept a Proxy`);
    if (isArray(o)) return o.length;
    for (let p = o; p !== null; p = getProto(p)) {
      if (isProxy(p)) throw new TypeError(`Array.prototype.${name} does not accept a Proxy`);
      const d = getOwn(p, "length");
      if (d === undefined) continue;
      if (d.get === TYPED_LENGTH && d.get !== undefined) return apply(TYPED_LENGTH, o, []);
      if (!("value" in d)) throw new TypeError(`Array.prototype.${name}: a length accessor is not supported`);
      const v = d.value;
      if (v !== null && (typeof v === "object" || typeof v === "function")) {
        throw new TypeError(`Array.prototype.${name}: length must be a primitive`);
      }
      return toLength(v);
    }
    return 0;
  }
  const check = (self, name) => {
    const n = lengthFor(self, name);
    if (n > MAX_LEN) throw new RangeError(`Array.prototype.${name}: length ${n} is too large`);
  };
  for (const name of ["join", "toLocaleString", "reverse", "copyWithin", "slice", "sort", "fill",
    "splice", "concat", "flat", "flatMap", "toReversed", "toSorted", "toSpliced", "with",
    "shift", "unshift"]) {
    const orig = AP[name];
    if (typeof orig !== "function") continue;
    const spreads = name === "concat";
    const wrapped = { [name](...args) {
      deadline();
      if (this !== null && this !== undefined) check(this, name);
      if (spreads) {
        for (const a of args) {
          if (a !== null && typeof a === "object" && (isArray(a) || SPREADABLE in a)) check(a, name);
        }
      }
      return apply(orig, this, args);
    } }[name];
    Object.defineProperty(AP, name, { value: wrapped, writable: true, configurable: true });
  }
  // Typed arrays' methods that loop in C over up to memoryLimitMb of data
  // without allocating.
  const TAP = getProto(Uint8Array.prototype);
  for (const name of ["fill", "set", "copyWithin", "sort", "reverse", "indexOf", "lastIndexOf",
    "includes", "join", "slice", "toSorted", "toReversed", "with"]) {
    const orig = TAP[name];
    if (typeof orig !== "function") continue;
    const wrapped = { [name](...args) {
      deadline();
      return apply(orig, this, args);
    } }[name];
    Object.defineProperty(TAP, name, { value: wrapped, writable: true, configurable: true });
  }

  // ---- Registrations (made while the files load; the manifest goes to Rust).
  const routes = [];
  const globalMws = [];
  const chains = { request: [], bootstrap: [], terminate: [], wsConnect: [], wsDisconnect: [] };
  const listeners = new Map();
  // onWsMessage(type, …): message type → hooks, sorted like the chains.
  const wsMessages = new Map();
  const crons = new Map();
  const plugins = [];
  const fileStack = [];
  let loading = true;
  let seq = 0;
  const here = () => fileStack[fileStack.length - 1] || "";
  const atLoad = (what) => {
    if (!loading) throw new Error(`${what} is only allowed while the hook files load`);
  };
  const fn = (f, what) => {
    if (typeof f !== "function") throw new TypeError(`${what} must be a function`);
    return f;
  };
  const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

  function addHook(chain, f, priority, what, plugin) {
    atLoad(what);
    const p = priority === undefined ? 0 : Number(priority);
    if (!Number.isFinite(p)) throw new TypeError(`${what}: priority must be a number`);
    chains[chain].push({ f: fn(f, what + " handler"), priority: p, seq: seq++, file: here(), plugin });
  }

  G.routerAdd = function routerAdd(method, path, handler, ...mws) {
    atLoad("routerAdd");
    const m = String(method).toUpperCase();
    if (!METHODS.includes(m)) throw new TypeError(`routerAdd: unknown method ${JSON.stringify(method)}`);
    if (typeof path !== "string" || !path.startsWith("/")) throw new TypeError("routerAdd: path must start with /");
    mws.forEach((f) => fn(f, "routerAdd middleware"));
    routes.push({ method: m, path: wf(path), handler: fn(handler, "routerAdd handler"), mws, file: here(), fns: undefined });
  };
  G.routerUse = function routerUse(...mws) {
    atLoad("routerUse");
    for (const f of mws) globalMws.push(fn(f, "routerUse middleware"));
  };
  G.onRequest = (f, priority) => addHook("request", f, priority, "onRequest");
  G.onBootstrap = (f, priority) => addHook("bootstrap", f, priority, "onBootstrap");
  G.onTerminate = (f, priority) => addHook("terminate", f, priority, "onTerminate");

  // ---- The hub (when the engine has a HubPlugin): its events and sending.
  const needHub = (what) => {
    if (!N.hub) throw new Error(`${what} needs the engine's HubPlugin (this service has no WebSocket hub)`);
  };
  G.onWsConnect = (f, priority) => { needHub("onWsConnect"); addHook("wsConnect", f, priority, "onWsConnect"); };
  G.onWsDisconnect = (f, priority) => { needHub("onWsDisconnect"); addHook("wsDisconnect", f, priority, "onWsDisconnect"); };
  G.onWsMessage = function onWsMessage(type, f, priority) {
    atLoad("onWsMessage");
    needHub("onWsMessage");
    if (typeof type !== "string") throw new TypeError("onWsMessage: type must be a string");
    const problem = N.hub.checkType(wf(type));
    if (problem) throw new TypeError(`onWsMessage: ${problem}`);
    const p = priority === undefined ? 0 : Number(priority);
    if (!Number.isFinite(p)) throw new TypeError("onWsMessage: priority must be a number");
    const key = wf(type);
    const list = wsMessages.get(key) || [];
    list.push({ f: fn(f, "onWsMessage handler"), priority: p, seq: seq++, file: here() });
    wsMessages.set(key, list);
  };
  const dataJson = (what, data) => {
    const json = JSON.stringify(data === undefined ? null : data);
    if (json === undefined) throw new TypeError(`${what}: data cannot be sent as JSON`);
    return wf(json);
  };
  const typeOf = (what, type) => {
    if (typeof type !== "string" || !type) throw new TypeError(`${what}: type must be a non-empty string`);
    return wf(type);
  };
  if (N.hub) {
    const H = N.hub;
    G.hub = Object.freeze({
      broadcast: (type, data) => H.broadcast(typeOf("hub.broadcast", type), dataJson("hub.broadcast", data)),
      toRoom(room, type, data) {
        if (typeof room !== "string" || !room) throw new TypeError("hub.toRoom: room must be a non-empty string");
        return H.toRoom(wf(room), typeOf("hub.toRoom", type), dataJson("hub.toRoom", data));
      },
      toClient(id, type, data) {
        if (typeof id !== "string" || !id) throw new TypeError("hub.toClient: id must be a non-empty string");
        return H.toClient(wf(id), typeOf("hub.toClient", type), dataJson("hub.toClient", data));
      },
      disconnect(id, reason) {
        if (typeof id !== "string" || !id) throw new TypeError("hub.disconnect: id must be a non-empty string");
        return H.disconnect(wf(id), reason === undefined ? "" : wf(reason));
      },
      clientCount: () => H.clientCount(),
    });
  }

  function on(name, f, plugin) {
    atLoad("app.on");
    if (typeof name !== "string" || !name) throw new TypeError("app.on: name must be a non-empty string");
    const key = wf(name);
    const list = listeners.get(key) || [];
    list.push({ f: fn(f, "app.on handler"), file: here(), plugin });
    listeners.set(key, list);
  }
  G.app = Object.freeze({ on: (name, f) => on(name, f) });
  G.events = Object.freeze({
    emit(name, data) {
      if (typeof name !== "string" || !name) throw new TypeError("events.emit: name must be a non-empty string");
      const json = JSON.stringify(data === undefined ? null : data);
      N.emit(wf(name), json === undefined ? "null" : json);
    },
  });

  G.cronAdd = function cronAdd(id, expr, f) {
    atLoad("cronAdd");
    if (typeof id !== "string" || !id) throw new TypeError("cronAdd: id must be a non-empty string");
    const problem = N.cronCheck(wf(expr));
    if (problem) throw new Error(`cronAdd(${JSON.stringify(id)}): ${problem}`);
    crons.set(wf(id), { expr: wf(expr), f: fn(f, "cronAdd job"), file: here() });
  };
  G.cronRemove = function cronRemove(id) {
    if (loading) return crons.delete(String(id));
    return N.cronRemove(wf(id));
  };

  const timers = new Map();
  G.sleep = function sleep(ms) {
    const n = Number(ms);
    return new Promise((resolve) => timers.set(N.timer(Number.isFinite(n) && n > 0 ? n : 0), resolve));
  };
  G.utils = Object.freeze({ uuid: N.uuid, now: () => new Date().toISOString() });

  // ---- require(): CommonJS over the folder snapshot (see sources.rs).
  const cache = new Map();
  const PLUGINS = "@plugins";
  function resolve(dir, spec) {
    if (typeof spec !== "string" || !(spec.startsWith("./") || spec.startsWith("../"))) {
      throw new Error(`require(${JSON.stringify(spec)}): only files inside the hooks folder can be required, by a path starting with ./ or ../`);
    }
    const parts = dir ? dir.split("/") : [];
    const floor = parts[0] === PLUGINS ? 1 : 0;
    for (const seg of spec.split("/")) {
      if (seg === "" || seg === ".") continue;
      if (seg === "..") {
        if (parts.length <= floor) throw new Error(`require(${JSON.stringify(spec)}): the path leaves the folder`);
        parts.pop();
      } else parts.push(seg);
    }
    if (floor === 0 && parts[0] === PLUGINS) throw new Error(`require(${JSON.stringify(spec)}): the path leaves the folder`);
    const base = wf(parts.join("/"));
    for (const c of [base, base + ".js", base + ".json", base + "/index.js"]) {
      if (N.exists(c)) return c;
    }
    throw new Error(`Cannot find module ${JSON.stringify(spec)} from ${JSON.stringify(dir || ".")}`);
  }
  function makeRequire(dir) {
    return function require(spec) { return load(resolve(dir, spec)); };
  }
  function load(path) {
    const hit = cache.get(path);
    if (hit) return hit.exports;
    const module = { exports: {}, id: path, filename: path, loaded: false };
    cache.set(path, module);
    try {
      if (path.endsWith(".json")) {
        module.exports = JSON.parse(N.source(path));
      } else {
        const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
        const wrapper = N.evalModule(path);
        fileStack.push(path);
        try {
          wrapper.call(module.exports, module.exports, makeRequire(dir), module, path, dir);
        } finally {
          fileStack.pop();
        }
      }
    } catch (err) {
      cache.delete(path);
      throw err;
    }
    module.loaded = true;
    return module.exports;
  }

  // ---- Plugins: module.exports = { id, name, version, description, hooks, config, ...functions }.
  const HOOK_CHAINS = { onRequest: "request", onBootstrap: "bootstrap", onTerminate: "terminate",
    onWsConnect: "wsConnect", onWsDisconnect: "wsDisconnect" };
  function loadPlugin(path) {
    const p = load(path);
    if (p === null || typeof p !== "object") throw new TypeError(`plugin ${path}: module.exports must be an object`);
    if (typeof p.id !== "string" || !p.id) throw new TypeError(`plugin ${path}: id must be a non-empty string`);
    if (plugins.some((q) => q.id === p.id)) throw new Error(`plugin ${path}: duplicate plugin id ${JSON.stringify(p.id)}`);
    const config = p.config === undefined ? {} : p.config;
    if (config === null || typeof config !== "object") throw new TypeError(`plugin ${p.id}: config must be an object`);
    const hooks = p.hooks === undefined ? [] : p.hooks;
    if (!Array.isArray(hooks)) throw new TypeError(`plugin ${p.id}: hooks must be an array of names`);
    const id = wf(p.id);
    fileStack.push(path);
    try {
      for (const h of hooks) {
        const f = p[h];
        if (typeof f !== "function") throw new TypeError(`plugin ${id}: hooks lists ${JSON.stringify(h)} but exports no function of that name`);
        const gated = (e) => {
          const o = N.pluginEnabled(id);
          const on = o === undefined ? config.enabled !== false : o;
          return on ? apply(f, p, [e, config]) : e.next();
        };
        if (HOOK_CHAINS[h] && HOOK_CHAINS[h].startsWith("ws")) needHub(`plugin ${id} ${h}`);
        if (HOOK_CHAINS[h]) addHook(HOOK_CHAINS[h], gated, config.priority, `plugin ${id} ${h}`, id);
        else on(String(h), gated, id);
      }
    } finally {
      fileStack.pop();
    }
    plugins.push({ id, name: String(p.name || id), version: String(p.version || ""),
      description: String(p.description || ""), hooks: hooks.map(String),
      enabled: config.enabled !== false, config, file: path });
  }

  function manifest() {
    const byPriority = (a, b) => a.priority - b.priority || a.seq - b.seq;
    for (const c of Object.values(chains)) c.sort(byPriority);
    for (const c of wsMessages.values()) c.sort(byPriority);
    const hookInfo = (c) => c.map((h) => ({ file: h.file, priority: h.priority, plugin: h.plugin || null }));
    const ws = Object.create(null);
    for (const [type, c] of wsMessages) ws[type] = hookInfo(c);
    return JSON.stringify({
      routes: routes.map((r) => ({ method: r.method, path: r.path, file: r.file, middlewares: r.mws.length })),
      middlewares: globalMws.length,
      hooks: { onRequest: hookInfo(chains.request), onBootstrap: hookInfo(chains.bootstrap), onTerminate: hookInfo(chains.terminate),
        onWsConnect: hookInfo(chains.wsConnect), onWsDisconnect: hookInfo(chains.wsDisconnect), onWsMessage: ws },
      events: [...listeners].map(([name, l]) => ({ name, files: l.map((x) => x.file), plugins: l.map((x) => x.plugin || null) })),
      cron: [...crons].map(([id, c]) => ({ id, expr: c.expr, file: c.file })),
      plugins: plugins.map((p) => ({ ...p, config: JSON.parse(JSON.stringify(p.config)) })),
    });
  }

  // ---- Executions.
  class BadRequest extends Error {}
  const EMPTY = Object.freeze({});
  function query(q, k) {
    for (const pair of q.split("&")) {
      const i = pair.indexOf("=");
      const name = i < 0 ? pair : pair.slice(0, i);
      if (dec(name) === k) return i < 0 ? "" : dec(pair.slice(i + 1));
    }
    return "";
  }
  function dec(s) {
    try { return decodeURIComponent(s.replace(/\+/g, " ")); } catch (_) { return s; }
  }
  // The request as hooks see it, built on the first read of `e.request`
  // (its JSON meta is parsed then, and only then).
  function makeRequest(s) {
    const meta = metaOf(s);
    const body = s.body;
    let parsed;
    let isParsed = false;
    const headers = meta.headers || EMPTY;
    return Object.freeze({
      method: meta.method, path: meta.path, url: meta.target, remoteIp: meta.peer || "", headers,
      param: (k) => (Object.prototype.hasOwnProperty.call(meta.params, k) ? meta.params[k] : ""),
      query: (k) => query(meta.query, String(k)),
      header: (k) => headers[String(k).toLowerCase()] || "",
      text: () => body,
      json() {
        if (!isParsed) {
          try { parsed = JSON.parse(body); } catch (err) {
            // Out of memory (null or InternalError) stays what it is.
            if (!(err instanceof SyntaxError || err instanceof RangeError)) throw err;
            throw new BadRequest(`request body is not valid JSON: ${err.message}`);
          }
          isParsed = true;
        }
        return parsed;
      },
    });
  }
  function metaOf(s) {
    if (s.meta === undefined) s.meta = JSON.parse(s.data);
    return s.meta;
  }
  // `s`: one route execution's state, the reply included (`status` 0 until
  // written, `headers` null until a header is set).
  function write(s, status, ctype, text) {
    const n = Number(status);
    if (!Number.isInteger(n) || n < 200 || n > 599) throw new TypeError(`invalid status ${status} (must be 200-599)`);
    s.status = n; s.ctype = ctype; s.text = text;
  }
  // A route's event: `e.request` and the methods are made on first use, per
  // event (a method is a closure over this execution's state, so that it
  // still works when taken off `e`); nothing refers back to `e` (but the
  // `e.next` of a chain step that has a next step), so that a finished
  // event is freed at once instead of waiting for the cycle collector.
  let stateOf;
  class RequestEvent {
    #s;
    constructor(s) { this.#s = s; }
    static { stateOf = (e) => e.#s; }
  }
  const MAKERS = {
    request: makeRequest,
    get(s) {
      return (k) => {
        const locals = metaOf(s).locals || EMPTY;
        return locals[k];
      };
    },
    // JSON.stringify's output is well-formed already.
    json: (s) => function json(status, value) {
      const text = JSON.stringify(value === undefined ? null : value);
      write(s, status, "application/json; charset=utf-8", text === undefined ? "null" : text);
    },
    string: (s) => function string(status, text) { write(s, status, "text/plain; charset=utf-8", wf(text)); },
    html: (s) => function html(status, text) { write(s, status, "text/html; charset=utf-8", wf(text)); },
    noContent: (s) => function noContent(status) { write(s, status === undefined ? 204 : status, "", ""); },
    setHeader: (s) => function setHeader(name, value) {
      const h = s.headers || (s.headers = []);
      if (h.length >= MAX_HEADERS) throw new RangeError(`e.setHeader: more than ${MAX_HEADERS} response headers`);
      h.push([wf(name), wf(value)]);
    },
  };
  for (const name of Object.keys(MAKERS)) {
    const make = MAKERS[name];
    Object.defineProperty(RequestEvent.prototype, name, {
      // Made once, then an own property of this event (which the state
      // never refers to: no cycle).
      get() {
        const v = make(stateOf(this));
        Object.defineProperty(this, name, { value: v, writable: true, enumerable: true, configurable: true });
        return v;
      },
      // Assigning replaces it on this event, as on a plain object.
      set(v) {
        Object.defineProperty(this, name, { value: v, writable: true, enumerable: true, configurable: true });
      },
      enumerable: true,
      configurable: true,
    });
  }

  const isThenable = (v) => v !== null && (typeof v === "object" || typeof v === "function") && typeof v.then === "function";
  function runChain(fns, e, pending) {
    return runStep(fns, 0, e, pending);
  }
  function runStep(fns, i, e, pending) {
    if (i >= fns.length) return undefined;
    const f = fns[i];
    let called = false;
    // The last step's next() runs nothing: it does not hold `e` (no cycle).
    e.next = i + 1 >= fns.length
      ? () => {
        if (called) throw new Error("e.next() was already called");
        called = true;
        return undefined;
      }
      : () => {
        if (called) throw new Error("e.next() was already called");
        called = true;
        const r = runStep(fns, i + 1, e, pending);
        if (isThenable(r)) pending.push(r);
        return r;
      };
    return f(e);
  }
  function describe(err) {
    try {
      if (err instanceof Error) return [`${err.name}: ${err.message}`, String(err.stack || "")];
      return [String(err), ""];
    } catch (_) {
      return ["a thrown value that cannot be described", ""];
    }
  }
  // QuickJS's own out-of-memory error: `null` (when it cannot even build
  // the error) or an InternalError "out of memory". Checked before anything
  // allocates; a script's `new Error("... out of memory ...")` is not it.
  const INTERNAL_ERROR = G.InternalError && G.InternalError.prototype;
  function isOutOfMemory(err) {
    if (err === null) return true;
    try {
      return typeof err === "object" && Object.getPrototypeOf(err) === INTERNAL_ERROR &&
        err.message === "out of memory";
    } catch (_) {
      return false;
    }
  }
  function fail(id, err) {
    if (isOutOfMemory(err)) return N.fail(id, "memory", "InternalError: out of memory", "");
    if (err instanceof BadRequest) return N.fail(id, "bad_request", wf(err.message), "");
    const [message, stack] = describe(err);
    return N.fail(id, "thrown", wf(message), wf(stack));
  }
  function complete(id, result, pending, finish) {
    if (!isThenable(result) && pending.length === 0) return finish();
    (async () => {
      let error;
      try { await result; } catch (err) { error = { err }; }
      for (let n = 0; n < pending.length; n++) {
        try { await pending[n]; } catch (err) { if (!error) error = { err, late: true }; }
      }
      return error;
    })().then((error) => (error && !(error.late && finish.wrote()) ? fail(id, error.err) : finish()),
      (err) => fail(id, err));
  }

  // A hook route: its index, the request as JSON (parsed on first use), the body.
  function route(id, index, data, body) {
    const pending = [];
    try {
      const r = routes[index];
      const s = { data, body, meta: undefined, status: 0, ctype: "", text: "", headers: null };
      // The chain is fixed once the files loaded: built on first use.
      const fns = r.fns || (r.fns = [...chains.request.map((h) => h.f), ...globalMws, ...r.mws, r.handler]);
      const result = runChain(fns, new RequestEvent(s), pending);
      if (!isThenable(result) && pending.length === 0) return finishRoute(id, s);
      const finish = () => finishRoute(id, s);
      finish.wrote = () => s.status !== 0;
      return complete(id, result, pending, finish);
    } catch (err) {
      return fail(id, err);
    }
  }
  function finishRoute(id, s) {
    const h = s.headers;
    return N.done(id, s.status || 204, s.ctype, s.text, h === null ? "[]" : JSON.stringify(h));
  }
  function dispatch(id, kind, arg, data, body) {
    const pending = [];
    try {
      const finish = () => N.done(id, 204, "", "", "[]");
      finish.wrote = () => false;
      if (kind === "event") {
        const list = listeners.get(arg) || [];
        const e = { name: arg, data: JSON.parse(data) };
        return complete(id, runChain(list.map((l) => l.f), e, pending), pending, finish);
      }
      if (kind === "wsMessage") {
        // data: {client, data, messageId}; `next` past the last hook passes the
        // message on to the TypeScript handler of its type (Rust does that).
        const m = JSON.parse(data);
        const client = Object.freeze(m.client);
        let passed = false;
        const e = {
          type: arg, client, data: m.data, messageId: m.messageId,
          reply: (value) => N.hub.reply(client.id, client.seq, arg, dataJson("e.reply", value), m.messageId),
          error(code, message) {
            const c = Number(code);
            if (!Number.isInteger(c) || c < 1000 || c > 4999) throw new TypeError(`e.error: code must be an integer in 1000-4999, got ${code}`);
            return N.hub.error(client.id, client.seq, c, message === undefined ? "" : wf(message), m.messageId);
          },
        };
        const fns = [...(wsMessages.get(arg) || []).map((h) => h.f), () => { passed = true; }];
        const end = () => N.done(id, 200, "", passed ? "next" : "", "[]");
        end.wrote = () => false;
        return complete(id, runChain(fns, e, pending), pending, end);
      }
      if (kind === "wsConnect" || kind === "wsDisconnect") {
        const m = JSON.parse(data);
        const e = { client: Object.freeze(m.client), code: m.code, reason: m.reason };
        return complete(id, runChain(chains[kind].map((h) => h.f), e, pending), pending, finish);
      }
      if (kind === "cron") {
        const job = crons.get(arg);
        return complete(id, job ? job.f() : undefined, pending, finish);
      }
      const chain = chains[kind];
      const e = {};
      return complete(id, runChain(chain.map((h) => h.f), e, pending), pending, finish);
    } catch (err) {
      return fail(id, err);
    }
  }

  // The entry points Rust calls: the script's completion value, held by
  // Rust only (never reachable from the global object).
  return Object.freeze({
    loadHook: (path) => { load(path); },
    loadPlugin,
    endLoad: () => { loading = false; },
    manifest,
    dispatch,
    route,
    fire(tid) { const r = timers.get(tid); if (r) { timers.delete(tid); r(); } },
    drop(tids) { for (const tid of tids) timers.delete(tid); },
  });
})(globalThis.__native, globalThis);
