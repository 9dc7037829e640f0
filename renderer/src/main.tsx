import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { refreshAll } from './state/loaders.js';
import { installWebSocketApi } from './transport/websocket-api.js';
import './styles/theme.css';
import './styles/layout.css';
import './styles/menus.css';
import './styles/tree.css';
import './styles/grid.css';
import './styles/dialogs.css';

// Served by the admin endpoint to a browser: no preload put the API here, the WebSocket does.
installWebSocketApi({ onReconnect: () => void refreshAll() });

const root = document.getElementById('root');
if (!root) throw new Error('The page has no #root element.');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
