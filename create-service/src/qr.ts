import QRCode from 'qrcode'

// QR codes of short URLs. Medium error correction survives a smudge or a small logo; the quiet
// zone of two modules is what scanners need around the code.

export type QrFormat = 'svg' | 'png'

export const QR_CONTENT_TYPE: Record<QrFormat, string> = { svg: 'image/svg+xml', png: 'image/png' }

const PNG_WIDTH = 512

export function renderQr (text: string, format: QrFormat): Promise<string | Buffer> {
  const common = { errorCorrectionLevel: 'M', margin: 2 } as const
  return format === 'png'
    ? QRCode.toBuffer(text, { ...common, type: 'png', width: PNG_WIDTH })
    : QRCode.toString(text, { ...common, type: 'svg' })
}
