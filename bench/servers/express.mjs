import express from 'express'
import { HELLO, PORT, ready } from './common.mjs'

const app = express()
app.disable('x-powered-by')
app.get('/', (_req, res) => {
  res.json(HELLO)
})
const server = app.listen(PORT, '127.0.0.1', () => ready(server.address().port))
