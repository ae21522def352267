import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['.cache/**', '.run/**', 'reports/**', 'node_modules/**'] })
]
