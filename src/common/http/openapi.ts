import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

export function buildOpenApi(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('ko-ai-server')
    .setDescription(
      'Korean greeting chatbot (retrieval with FAISS + a GPT-2 style generator) and vision models (MNIST digit ' +
        'recognition, face mosaic), served in-process with ONNX. Every error has the shape ' +
        '`{ statusCode, error, message, requestId }`. socket.io namespaces are described in the README.',
    )
    .setVersion('0.1.0')
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Swagger UI at /docs, the JSON at /docs-json. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApi(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
}
