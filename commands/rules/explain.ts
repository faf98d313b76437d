import {Args} from '@oclif/core';
import {KtrailCommand} from '../../src/cli/base.js';
import {explainRule, optionDefaults, optionSchema, readRuleDocs} from '../../src/rules/explain.js';
import {ruleById} from '../../src/rules/index.js';

export default class RulesExplain extends KtrailCommand {
  static summary = 'Explain a rule: what it detects, the kernel background, how to capture its inputs, an example finding.';
  static examples = ['<%= config.bin %> rules explain kernel/atomic-sleep', '<%= config.bin %> rules explain lockdep/report --json'];

  static args = {
    id: Args.string({description: 'rule id (see `ktrail rules list`)', required: true}),
  };

  async run(): Promise<unknown> {
    const {args} = await this.parse(RulesExplain);
    const text = explainRule(args.id); // UserError for an unknown id
    const rule = ruleById(args.id)!;
    if (!this.jsonEnabled()) process.stdout.write(text);
    return {
      id: rule.meta.id,
      description: rule.meta.description,
      severity: rule.meta.severity,
      needs: rule.meta.needs,
      messages: rule.meta.messages,
      options: optionDefaults(rule),
      options_schema: optionSchema(rule),
      docs_path: rule.meta.docs,
      docs: readRuleDocs(rule) ?? null,
    };
  }
}
