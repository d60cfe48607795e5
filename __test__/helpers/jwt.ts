// Token signing for the JWT suites, with node:crypto only (no JWT library):
// HS256 (HMAC-SHA256), RS256 (RSASSA-PKCS1-v1_5 SHA-256), ES256 (ECDSA P-256,
// raw r||s signature), and unsigned `none` tokens for the attacks.
import crypto from 'node:crypto'

export type Alg = 'HS256' | 'RS256' | 'ES256' | 'HS512' | 'none'

const b64 = (data: string | Buffer) => Buffer.from(data).toString('base64url')

/** Seconds since the epoch, as `exp`/`nbf`/`iat` count them. */
export const now = () => Math.floor(Date.now() / 1000)

/**
 * A compact JWS over `claims`. `key` is the secret (HS*) or a private key
 * PEM / KeyObject (RS256, ES256); `header` adds or overrides header fields.
 */
export function signJwt(
  claims: unknown,
  { alg = 'HS256', key = '', header = {} }: { alg?: Alg; key?: crypto.KeyLike; header?: Record<string, unknown> } = {},
): string {
  const data = `${b64(JSON.stringify({ alg, typ: 'JWT', ...header }))}.${b64(JSON.stringify(claims))}`
  let sig: Buffer
  switch (alg) {
    case 'HS256':
      sig = crypto
        .createHmac('sha256', key as crypto.BinaryLike)
        .update(data)
        .digest()
      break
    case 'HS512':
      sig = crypto
        .createHmac('sha512', key as crypto.BinaryLike)
        .update(data)
        .digest()
      break
    case 'RS256':
      sig = crypto.sign('sha256', Buffer.from(data), key as crypto.KeyLike)
      break
    case 'ES256':
      sig = crypto.sign('sha256', Buffer.from(data), { key: key as crypto.KeyLike, dsaEncoding: 'ieee-p1363' })
      break
    case 'none':
      sig = Buffer.alloc(0)
      break
  }
  return `${data}.${b64(sig)}`
}

/** A fresh key pair as PEM strings (SPKI public, PKCS#8 private). */
export function keyPair(kind: 'rsa' | 'ec', modulusLength = 2048) {
  const { publicKey, privateKey } =
    kind === 'rsa' ? crypto.generateKeyPairSync('rsa', { modulusLength }) : crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  }
}
