// ESLint for the map page script (`make lint-js`): plain browser JavaScript run on Leaflet.
import js from "@eslint/js";

export default [
  js.configs.recommended,
  {
    files: ["coverage/maps/assets/**/*.js"],
    languageOptions: {
      ecmaVersion: 2017,
      sourceType: "script",
      globals: { L: "readonly", window: "readonly", document: "readonly", location: "readonly" },
    },
    rules: {
      "no-unused-vars": ["error", { varsIgnorePattern: "^safetynetDraw$" }],
      eqeqeq: "error",
      "no-implicit-globals": "off",
      curly: "error",
      "no-var": "off",
    },
  },
];
