'use strict'

// An engine's lifecycle: one state, the moves allowed between states, and
// the error that ended it, if one did.
//
//   new ──▶ loading ──▶ routing ──▶ loaded ──▶ preparing ──▶ prepared ──▶ starting ──▶ started
//              │           │                      │                        │    ▲
//              ▼           ▼                      ▼                        ▼    │
//          load-failed  load-failed        prepare-failed            listen-failed
//
// and from every state but `stopping` and `stopped`: ──▶ stopping ──▶ stopped.
//
// - new: plugins may still be added.
// - loading: modules are loaded, onInit, onModuleLoad, and the onHandlerLoad of
//   plugins whose priority is not ROUTE run; handler.wrap() is possible.
// - routing: the chains are applied; ROUTE-priority plugins' onHandlerLoad add
//   the routes.
// - loaded: get(), handler(), getModules() work.
// - preparing: async load hooks are awaited, onBeforeStart runs, the Rust
//   server is built.
// - prepared: request() is served in process; start() runs onAfterStart, then listens.
// - starting: start() runs onAfterStart (from `prepared`), then listens. A
//   failed onAfterStart goes back to `prepared`; a failed listen to `listen-failed`.
// - listen-failed: onAfterStart ran but listening failed (e.g. the port is
//   taken): start() may be retried and only listens.
// - started: listening.
// - load-failed, prepare-failed: a lifecycle hook failed; `error` says how.
//   After prepare-failed the modules are loaded (get() works); start() and
//   request() reject with the error.
// - stopping, stopped: stop() was called; nothing starts or is served again.

/** @typedef {'new' | 'loading' | 'routing' | 'loaded' | 'preparing' | 'prepared' | 'starting' | 'listen-failed' | 'started' | 'load-failed' | 'prepare-failed' | 'stopping' | 'stopped'} LifecycleState */

/** @type {Readonly<Record<LifecycleState, readonly LifecycleState[]>>} */
const MOVES = Object.freeze({
  new: ['loading', 'stopping'],
  loading: ['routing', 'load-failed', 'stopping'],
  routing: ['loaded', 'load-failed', 'stopping'],
  loaded: ['preparing', 'stopping'],
  preparing: ['prepared', 'prepare-failed', 'stopping'],
  prepared: ['starting', 'stopping'],
  starting: ['started', 'prepared', 'listen-failed', 'stopping'],
  'listen-failed': ['starting', 'stopping'],
  started: ['stopping'],
  'load-failed': ['stopping'],
  'prepare-failed': ['stopping'],
  stopping: ['stopped'],
  stopped: [],
})

class Lifecycle {
  /** @type {LifecycleState} */
  #state = 'new'
  /** @type {unknown} */
  #error = undefined

  /** @returns {LifecycleState} */
  get state() {
    return this.#state
  }

  /** What ended the lifecycle in `load-failed` or `prepare-failed`. */
  get error() {
    return this.#error
  }

  /** @param {...LifecycleState} states */
  is(...states) {
    return states.includes(this.#state)
  }

  /**
   * Moves from `from` to `to` when the state is still `from`, and tells whether
   * it did: a stop() that came meanwhile has moved it on already. A move the
   * table does not allow is a bug of the engine: it throws, naming both states.
   *
   * @param {LifecycleState} from
   * @param {LifecycleState} to
   * @param {unknown} [error] what made it fail (for `load-failed` and `prepare-failed`)
   */
  move(from, to, error) {
    if (this.#state !== from) return false
    if (!MOVES[from].includes(to)) throw new Error(`nebula: the engine cannot go from ${from} to ${to}`)
    this.#state = to
    if (to === 'load-failed' || to === 'prepare-failed') this.#error = error
    return true
  }
}

module.exports = { Lifecycle, MOVES }
