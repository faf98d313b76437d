import {Flags} from '@oclif/core';
import {KtrailCommand} from '../../src/cli/base.js';
import {renderTable} from '../../src/output/render.js';
import {optionDefaults, rulesIndexMarkdown} from '../../src/rules/explain.js';
import {RULES} from '../../src/rules/index.js';

export default class RulesList extends KtrailCommand {
  static summary = 'List the rules: id, default severity, what each detects and what it needs.';
  static description = 'Generated from each rule\'s metadata. --format markdown prints docs/rules/README.md. Details: `ktrail rules explain ID`.';
  static examples = ['<%= config.bin %> rules list', '<%= config.bin %> rules list --json', '<%= config.bin %> rules list --format markdown > docs/rules/README.md'];

  static flags = {
    format: Flags.string({description: 'output format', options: ['table', 'markdown'], default: 'table'}),
  };

  async run(): Promise<unknown> {
    const {flags} = await this.parse(RulesList);
    const rows = RULES.map((r) => ({
      id: r.meta.id,
      severity: r.meta.severity,
      description: r.meta.description,
      needs: r.meta.needs,
      options: optionDefaults(r),
      docs: r.meta.docs,
    }));
    if (!this.jsonEnabled()) {
      if (flags.format === 'markdown') process.stdout.write(rulesIndexMarkdown());
      else process.stdout.write(renderTable(['id', 'severity', 'description'], rows.map((r) => [r.id, r.severity, r.description])));
    }
    return rows;
  }
}
