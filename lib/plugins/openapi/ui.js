'use strict'

// The Swagger UI page: swagger-ui-dist's bundle and stylesheet (served under `assets`) pointed
// at the document. Only these two files are served: the package's own index.html and
// swagger-initializer.js would show its Petstore demo.

const { createHash } = require('node:crypto')
const { readFileSync } = require('node:fs')
const path = require('node:path')
const { HttpResponse } = require('../../context')

/** The files the page loads, and their content types. */
const ASSETS = Object.freeze({
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
})

/** @param {string} s */
function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/**
 * @param {{ title: string, documentUrl: string, assets: string }} options
 * @returns {string}
 */
function swaggerUiPage({ title, documentUrl, assets }) {
  // JSON.stringify, then `<` escaped: a string literal that cannot close the script element.
  const url = JSON.stringify(documentUrl).replace(/</g, '\\u003c')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${escapeHtml(assets)}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${escapeHtml(assets)}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: ${url}, dom_id: '#swagger-ui', deepLinking: true })
</script>
</body>
</html>
`
}

/**
 * The routes of the page's files (read once), cached by the browser for a day and revalidated by their ETag.
 * @param {string} dist the swagger-ui-dist folder
 * @param {string} assets the URL prefix
 * @returns {{ methods: string[], path: string, handle: (ctx: import('../../context').Context) => HttpResponse }[]}
 */
function swaggerUiAssets(dist, assets) {
  return Object.entries(ASSETS).map(([file, type]) => {
    const body = readFileSync(path.join(dist, file))
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
    const headers = { 'content-type': type, 'cache-control': 'public, max-age=86400', etag }
    return {
      methods: ['GET'],
      path: `${assets}/${file}`,
      handle: (ctx) => {
        const known = ctx.req.header('if-none-match')
        if (known?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) return new HttpResponse('', 304, headers)
        return new HttpResponse(body, 200, headers)
      },
    }
  })
}

module.exports = { swaggerUiPage, swaggerUiAssets }
