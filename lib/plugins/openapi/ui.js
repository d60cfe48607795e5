'use strict'

// The Swagger UI page: swagger-ui-dist's bundle and stylesheet (served by the engine's static
// files under `assets`) pointed at the document.

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

module.exports = { swaggerUiPage }
