// esbuild bundles the CSS a module imports into the page's stylesheet.
declare module '*.css'
