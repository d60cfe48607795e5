/// <reference path="./types.d.ts" />
// The `jsvm` bench scenario's hook route: the hello contenders' JSON body
// (bench/servers/common.mjs HELLO), answered by a QuickJS runtime of the pool.
routerAdd('GET', '/', (e) => e.json(200, { hello: 'world' }))
