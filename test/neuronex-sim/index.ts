export { startNeuronSimulator,   type NeuronSimulator,  } from './neuron-simulator.js';
;
;
;
;
;
;
;
;
