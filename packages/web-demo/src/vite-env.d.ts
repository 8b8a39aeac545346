// Type declarations for Vite's `?url` asset imports (the page's wasm binaries).
declare module '*?url' {
  const url: string;
  export default url;
}
