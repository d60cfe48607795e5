'use strict'

// The onion: `layers[0]` is the outermost wrapper. Built once per handler at
// start; running it allocates one closure per layer and nothing else.

function composeWrappers(layers, original) {
  for (const layer of layers) {
    if (typeof layer !== 'function') throw new TypeError('handler.wrap() expects a function')
  }
  const count = layers.length
  return function run(instance, args) {
    let index = -1
    function dispatch(i) {
      if (i <= index) return Promise.reject(new Error('next() called multiple times'))
      index = i
      try {
        if (i === count) return Promise.resolve(original.apply(instance, args))
        return Promise.resolve(layers[i](() => dispatch(i + 1), instance, ...args))
      } catch (err) {
        return Promise.reject(err)
      }
    }
    return dispatch(0)
  }
}

// Hono-style middlewares `(ctx, next) => value | undefined`, then `last(ctx)`.
// A middleware that returns a value answers with it (before or after next());
// one that returns nothing after next() passes the inner answer through.
function composeMiddlewares(middlewares, last) {
  for (const mw of middlewares) {
    if (typeof mw !== 'function') throw new TypeError('a middleware must be a function (ctx, next) => ...')
  }
  if (middlewares.length === 0) return last
  const count = middlewares.length
  return function run(ctx) {
    let index = -1
    function dispatch(i) {
      if (i <= index) return Promise.reject(new Error('next() called multiple times'))
      index = i
      if (i === count) return Promise.resolve(last(ctx))
      let inner
      let called = false
      const next = () => {
        called = true
        inner = dispatch(i + 1)
        return inner
      }
      try {
        return Promise.resolve(middlewares[i](ctx, next)).then((value) => {
          if (value !== undefined) return value
          if (called) return inner
          throw new Error('a middleware returned without calling next() or returning a response')
        })
      } catch (err) {
        return Promise.reject(err)
      }
    }
    return dispatch(0)
  }
}

module.exports = { composeWrappers, composeMiddlewares }
