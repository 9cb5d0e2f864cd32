import { render } from 'preact';
import { App } from './app.js';
import { initTheme } from './theme.js';
import './styles.css';

initTheme();
render(<App />, document.getElementById('app')!);
