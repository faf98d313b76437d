import {ruleSampleSuite} from '../../../src/rules/testing.js';

ruleSampleSuite('gup/fork-race');
