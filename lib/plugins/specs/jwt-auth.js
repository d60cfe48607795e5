'use strict'

// JwtAuthPlugin's options (the native "jwt" plugin). See ./index.js for the spec's shape.

module.exports = {
  name: 'JwtAuthPlugin',
  kind: 'jwt',
  type: 'JwtAuthOptions',
  section: 'jwtAuth',
  options: {
    algorithm: {
      doc: 'Pinned: a token whose header names another algorithm (or "none") is refused.',
      required: true,
      schema: { enum: ['HS256', 'RS256', 'ES256'] },
    },
    secret: {
      doc: 'HS256 shared secret, at least 32 bytes.',
      schema: { type: 'string' },
    },
    publicKey: {
      doc: 'RS256/ES256 public key, PEM ("PUBLIC KEY"; "RSA PUBLIC KEY" also for RS256). RSA at least 2048 bits; ES256 needs P-256.',
      schema: { type: 'string' },
    },
    issuer: {
      doc: 'Required `iss`.',
      schema: { $ref: '#/$defs/nonEmptyString' },
    },
    audience: {
      doc: 'Accepted `aud` value(s); a token must name at least one.',
      schema: { anyOf: [{ $ref: '#/$defs/nonEmptyString' }, { $ref: '#/$defs/stringList' }] },
    },
    leeway: {
      doc: 'Clock skew for exp/nbf in seconds, 0..300. Default 5.',
      schema: { type: 'integer', minimum: 0, maximum: 300, default: 5 },
    },
    claimsPermissions: {
      doc: 'Claim holding permissions (array or space-separated string). Default "permissions".',
      schema: { $ref: '#/$defs/nonEmptyString', default: 'permissions' },
    },
    claimsRoles: {
      doc: 'Claim holding roles (array or space-separated string). Default "roles".',
      schema: { $ref: '#/$defs/nonEmptyString', default: 'roles' },
    },
  },
}
