// esbuild gathers imported CSS into app.css; to TypeScript such an import is only an effect.
declare module '*.css';
