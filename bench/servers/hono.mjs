import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { HELLO, PORT, ready } from './common.mjs'

const app = new Hono()
app.get('/', (c) => c.json(HELLO))
serve({ fetch: app.fetch, port: PORT, hostname: '127.0.0.1' }, (info) => ready(info.port))
